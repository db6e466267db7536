from parklink.simulator.app import main

main()
