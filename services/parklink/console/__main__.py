from parklink.console.app import main

main()
