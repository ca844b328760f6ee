from peakend.cli import main

main()
