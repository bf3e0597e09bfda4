from bot.sandbox.pagerduty.server import main

main()
