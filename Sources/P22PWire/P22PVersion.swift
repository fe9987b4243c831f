/// The version the tools print.
public enum P22PVersion {
    public static let current = "0.1.0"
}
