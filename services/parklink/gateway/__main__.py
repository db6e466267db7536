from parklink.gateway.app import main

main()
