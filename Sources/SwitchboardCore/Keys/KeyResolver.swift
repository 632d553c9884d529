import Synchronization

/// Where a key came from, in precedence order.
public enum KeySource: String, Sendable, Codable, Hashable {
  /// The request's own override.
  case request
  /// The in-memory store (admin RPC, `switchboard keys`).
  case store
  /// A literal in the config file.
  case config
  /// An environment variable.
  case env
  /// A `.env` file.
  case dotenv
  /// No key.
  case none
}

/// A key and where it came from.
public struct ResolvedKey: Sendable, Hashable {
  public var secret: Secret?
  public var source: KeySource
  /// The secret's fingerprint, or "none".
  public var fingerprint: String { secret?.fingerprint ?? "none" }
  /// Creates a resolved key.
  public init(secret: Secret?, source: KeySource) { self.secret = secret; self.source = source }
  /// No key at all.
  public static let none = ResolvedKey(secret: nil, source: .none)
}

/// How the config says to find one key of a provider's pool.
public enum KeyReference: Sendable, Hashable {
  /// A literal key in the config file.
  case literal(Secret)
  /// An environment variable's name (looked up in the environment, then the `.env` file).
  case environment(String)
}

/// Key settings of one provider.
public struct ProviderKeySettings: Sendable, Hashable {
  /// The pool from the config, in rotation order.
  public var pool: [KeyReference]
  /// Environment variable to use when the pool is empty (the configured
  /// `api_key_env`, else the provider's conventional one).
  public var environmentVariable: String?
  /// Creates settings.
  public init(pool: [KeyReference] = [], environmentVariable: String? = nil) {
    self.pool = pool; self.environmentVariable = environmentVariable
  }
}

/// Resolves a provider's keys by precedence: request override → in-memory store →
/// config file → environment variable → `.env` file. The first source that has
/// any key supplies the whole pool.
public final class KeyResolver: Sendable {
  struct State: Sendable {
    var settings: [String: ProviderKeySettings]
    /// `settings` resolved against the environment and `.env` (see `resolve`).
    var resolved: [String: [ResolvedKey]]
    var store: [String: [Secret]] = [:]
  }
  private let state: Mutex<State>

  /// Creates a resolver. `environment` and `dotenv` are passed in (the core does no I/O).
  public init(settings: [String: ProviderKeySettings], environment: [String: String], dotenv: [String: String] = [:]) {
    state = Mutex(State(settings: settings, resolved: Self.resolve(settings, environment: environment, dotenv: dotenv)))
  }

  /// Replaces the config-derived parts (reload); the in-memory store survives.
  public func reload(settings: [String: ProviderKeySettings], environment: [String: String], dotenv: [String: String]) {
    let resolved = Self.resolve(settings, environment: environment, dotenv: dotenv)
    state.withLock { s in s.settings = settings; s.resolved = resolved }
  }

  /// The pool for `provider`, in the order to try, from the highest-precedence source that has one.
  public func keys(for provider: String, override: Secret? = nil) -> [ResolvedKey] {
    if let override, !override.isEmpty { return [ResolvedKey(secret: override, source: .request)] }
    return state.withLock { s in
      if let stored = s.store[provider], !stored.isEmpty {
        return stored.map { ResolvedKey(secret: $0, source: .store) }
      }
      return s.resolved[provider] ?? []
    }
  }

  /// The config → environment → `.env` part of the chain, resolved once per
  /// (re)load: the sources only change on reload, and hashing a key into its
  /// fingerprint on every request would be wasted work on the hot path.
  static func resolve(_ settings: [String: ProviderKeySettings], environment: [String: String],
                      dotenv: [String: String]) -> [String: [ResolvedKey]] {
    settings.mapValues { settings in
      if !settings.pool.isEmpty {
        var out: [ResolvedKey] = []
        for ref in settings.pool {
          switch ref {
          case .literal(let secret): out.append(ResolvedKey(secret: secret, source: .config))
          case .environment(let name):
            if let v = environment[name], !v.isEmpty { out.append(ResolvedKey(secret: Secret(v), source: .env)) }
            else if let v = dotenv[name], !v.isEmpty { out.append(ResolvedKey(secret: Secret(v), source: .dotenv)) }
          }
        }
        if !out.isEmpty { return out }
      }
      if let name = settings.environmentVariable {
        if let v = environment[name], !v.isEmpty { return [ResolvedKey(secret: Secret(v), source: .env)] }
        if let v = dotenv[name], !v.isEmpty { return [ResolvedKey(secret: Secret(v), source: .dotenv)] }
      }
      return []
    }
  }

  /// Sets the store's key for `provider` (replacing its store pool); returns the pool size.
  @discardableResult
  public func set(_ secret: Secret, for provider: String) -> Int {
    state.withLock { s in s.store[provider] = [secret]; return 1 }
  }

  /// Rotates: a new key goes first (older store keys stay behind it as fallbacks);
  /// with no key, the current pool advances by one. Returns the now-active key.
  public func rotate(_ provider: String, to newKey: Secret?) -> ResolvedKey? {
    var current = keys(for: provider)
    return state.withLock { s in
      if let newKey {
        var pool = s.store[provider] ?? []
        pool.removeAll { $0 == newKey }
        pool.insert(newKey, at: 0)
        s.store[provider] = Array(pool.prefix(4))
      } else {
        if current.isEmpty { return nil }
        current.append(current.removeFirst())
        s.store[provider] = current.compactMap(\.secret)
      }
      return s.store[provider]?.first.map { ResolvedKey(secret: $0, source: .store) }
    }
  }

  /// Drops the store's keys for `provider`, so config, environment and `.env`
  /// supply them again. Returns the pool now in force.
  @discardableResult
  public func clear(_ provider: String) -> [ResolvedKey] {
    state.withLock { s in
      s.store.removeValue(forKey: provider)
      return s.resolved[provider] ?? []
    }
  }

  /// Every secret the resolver knows of (for leak checks in tests and log scrubbing).
  public func allSecrets() -> [Secret] {
    state.withLock { s in
      var out = s.store.values.flatMap { $0 }
      for (_, st) in s.settings {
        for r in st.pool { if case .literal(let sec) = r { out.append(sec) } }
      }
      return out
    }
  }
}
