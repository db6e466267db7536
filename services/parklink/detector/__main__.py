from parklink.detector.main import main

main()
