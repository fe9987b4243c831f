import P22PMemberCLI
import P22PServerCLI
import P22PUpCLI

// One binary, three tools: `make install` installs this one and links
// p22p-server and p22p-up to it, as busybox does, since each tool alone
// carries the same runtime and libraries (most of its size). The name it
// was started under picks the tool.
let invokedAs = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "p22p"
// By prefix, so p22p-server-0.1 or p22p-up.debug still pick their tool.
if invokedAs.hasPrefix("p22p-server") {
    await ServerTool.main()
} else if invokedAs.hasPrefix("p22p-up") {
    await UpTool.main()
} else {
    await MemberTool.main()
}
