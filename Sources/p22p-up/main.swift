import P22PUpCLI

await UpTool.main()
