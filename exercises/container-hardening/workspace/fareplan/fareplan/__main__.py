from fareplan.server import main

main()
