"""Test helpers for channels_lite applications."""
