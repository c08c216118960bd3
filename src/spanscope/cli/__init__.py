"""Thin command-line front ends (`spanscope serve|demo|search|trace`)."""
