/// The kernel error numbers the engine returns, named as the kernel names them.
public enum Errno: Int32, Error, Hashable, Sendable, CustomStringConvertible {
    case EPERM = 1, ENOENT = 2, EIO = 5, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22
    case EOVERFLOW = 75, EOPNOTSUPP = 95, ENETDOWN = 100, ETIMEDOUT = 110, EREMOTEIO = 121, ECANCELED = 125

    public var name: String {
        switch self {
        case .EPERM: return "EPERM"
        case .ENOENT: return "ENOENT"
        case .EIO: return "EIO"
        case .ENOMEM: return "ENOMEM"
        case .EACCES: return "EACCES"
        case .EFAULT: return "EFAULT"
        case .EBUSY: return "EBUSY"
        case .EEXIST: return "EEXIST"
        case .ENODEV: return "ENODEV"
        case .EINVAL: return "EINVAL"
        case .EOVERFLOW: return "EOVERFLOW"
        case .EOPNOTSUPP: return "EOPNOTSUPP"
        case .ENETDOWN: return "ENETDOWN"
        case .ETIMEDOUT: return "ETIMEDOUT"
        case .EREMOTEIO: return "EREMOTEIO"
        case .ECANCELED: return "ECANCELED"
        }
    }

    public var description: String { "-\(name)" }

    /// A system call's errno as the engine's error, or `otherwise` for one it has no name for.
    public init(code: Int32, otherwise: Errno) { self = Errno(rawValue: code) ?? otherwise }
}

/// An engine failure: the errno the kernel would return and where it came from.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var errno: Errno
    public var message: String
    public init(_ errno: Errno, _ message: String) { self.errno = errno; self.message = message }
    public var description: String { "\(errno.description): \(message)" }
}
