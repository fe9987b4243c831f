#if canImport(Glibc)
import Glibc
#endif

/// Keeps glibc's allocator from handing frame-sized memory back to the kernel
/// after every frame.
///
/// NIO rounds buffer capacities up to a power of two, so a full data frame
/// (64 KiB of payload plus headers) is a 128 KiB allocation: exactly glibc's
/// initial mmap threshold, and above its trim threshold. Freed, such a buffer
/// went back to the kernel and the next one faulted in fresh zeroed pages:
/// page faults and page clearing were a fifth of the relay's CPU time in a
/// bulk transfer. With a 1 MiB mmap threshold and a 32 MiB trim threshold the
/// same buffers are reused from the heap (forward-throughput.sh, 1 GiB x 3,
/// twice each way: 4.8 and 5.1 CPU s/GB before, 4.2 and 4.4 after).
public enum AllocatorTuning {
    public static func apply() {
        #if canImport(Glibc)
        _ = glibcMallopt(mmapThreshold, 1 << 20)
        _ = glibcMallopt(trimThreshold, 32 << 20)
        #endif
    }

    // <malloc.h> is not part of the Glibc module; these are its values.
    private static let trimThreshold: Int32 = -1
    private static let mmapThreshold: Int32 = -3
}

#if canImport(Glibc)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
