/// New group passwords: 128 random bits, written in a 31-character alphabet
/// without look-alikes so they survive being read aloud or typed, in groups
/// of five for the eye.
public enum PasswordGenerator {
    static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        // 26 characters of a 31-letter alphabet: 31^26 > 2^128.
        let letters = (0..<26).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return stride(from: 0, to: letters.count, by: 5).map { String(letters[$0..<min($0 + 5, letters.count)]) }.joined(separator: "-")
    }
}
