from slackapp.cli import main

main()
