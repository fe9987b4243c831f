import P22PServerCLI

await ServerTool.main()
