/// A problem in a profile, pointing at the line and column to fix.
public struct ProfileError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `profile.yaml:12:7: message`, the form editors jump to.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}
