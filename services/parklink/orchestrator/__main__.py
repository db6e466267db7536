from parklink.orchestrator.app import main

main()
