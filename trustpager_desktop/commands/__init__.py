"""``trustpager`` subcommands, one module each (see ``cli.build_cli``)."""
