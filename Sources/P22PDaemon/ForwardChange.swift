import P22PClient

/// What a reload changes in one group's forwards: a pure diff, so unchanged
/// forwards (and their open connections) are never touched.
struct ForwardChange: Equatable {
    var removed: [ForwardSpec]
    var added: [ForwardSpec]

    init(from old: [ForwardSpec], to new: [ForwardSpec]) {
        removed = old.filter { !new.contains($0) }
        added = new.filter { !old.contains($0) }
    }
}
