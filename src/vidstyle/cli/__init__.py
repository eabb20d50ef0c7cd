"""The `vidstyle` command line."""
