from parklink.registry.app import main

main()
