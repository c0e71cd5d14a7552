"""Plots, tables and reports of runs."""
