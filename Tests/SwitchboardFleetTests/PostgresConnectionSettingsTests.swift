import Testing
@testable import SwitchboardFleet

/// URL parsing needs no server: every form and every refusal, none of which quotes the URL.
@Suite struct PostgresConnectionSettingsTests {
  @Test(arguments: [
    ("postgresql://sb@db:6543/budgets?sslmode=disable", "db", 6543, nil, "sb", "budgets", PostgresConnectionSettings.TLSMode.disable),
    ("postgres://sb@db", "db", 5432, nil, "sb", "sb", .prefer),
    ("postgresql://sb@[::1]:5433/x?sslmode=verify-full", "::1", 5433, nil, "sb", "x", .require),
    ("postgresql://sb@/x?host=/run/postgresql", nil, 5432, "/run/postgresql/.s.PGSQL.5432", "sb", "x", .prefer),
    ("postgresql://s%40b@h/d%2Dx", "h", 5432, nil, "s@b", "d-x", .prefer),
  ] as [(String, String?, Int, String?, String, String, PostgresConnectionSettings.TLSMode)])
  func parses(_ url: String, _ host: String?, _ port: Int, _ socket: String?, _ user: String, _ db: String, _ tls: PostgresConnectionSettings.TLSMode) throws {
    let s = try PostgresConnectionSettings.parse(url).get()
    #expect(s.host == host && s.port == port && s.unixSocketPath == socket && s.user == user && s.database == db && s.tls == tls)
    #expect(s.password == nil)
  }

  @Test(arguments: [
    ("postgresql://sb:pw@db/x", PostgresConnectionSettings.URLProblem.passwordInURL),
    ("mysql://sb@db/x", .scheme),
    ("postgresql://db/x", .noUser),
    ("postgresql://sb@db:0/x", .port),
    ("postgresql://sb@db/x?sslmode=sometimes", .sslmode),
    ("postgresql://sb@db/x?options=-c%20x", .parameter),
    ("postgresql://sb@db/x/y", .database),
  ] as [(String, PostgresConnectionSettings.URLProblem)])
  func refuses(_ url: String, _ problem: PostgresConnectionSettings.URLProblem) {
    guard case .failure(let p) = PostgresConnectionSettings.parse(url) else { Issue.record("accepted"); return }
    #expect(p == problem)
    #expect(!p.description.contains("db") && !p.description.contains("pw"))
  }
}
