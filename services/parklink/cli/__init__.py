"""The `parklink` command line: one entry point, a subcommand per service and tool."""
