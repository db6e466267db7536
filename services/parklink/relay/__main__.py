from parklink.relay.app import main

main()
