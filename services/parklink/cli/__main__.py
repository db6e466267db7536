from parklink.cli.main import main

main()
