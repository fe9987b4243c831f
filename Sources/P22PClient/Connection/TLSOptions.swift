/// How a member checks a wss:// relay. By default the system trust store.
public struct TLSOptions: Sendable, Equatable {
    /// Trust only this PEM CA bundle instead of the system store.
    public var caFile: String?

    public init(caFile: String? = nil) { self.caFile = caFile }
}
