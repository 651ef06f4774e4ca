from dsnlink.cli.main import main

main()
