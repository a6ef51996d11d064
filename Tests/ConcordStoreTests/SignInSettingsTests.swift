import ConcordStore
import Testing

/// The sign-in settings an operator gives in the environment, and the password rules.
@Suite struct SignInSettingsTests {
    @Test func theEnvironmentSetsCostExpiryAndLockout() throws {
        let settings = try SignInSettings.from(environment: [
            "CONCORD_BCRYPT_COST": "10", "CONCORD_SESSION_IDLE_SECONDS": "600",
            "CONCORD_SESSION_LIFETIME_SECONDS": "3600", "CONCORD_SIGN_IN_DELAY_AFTER": "2",
            "CONCORD_SIGN_IN_LOCK_AFTER": "5", "CONCORD_SIGN_IN_LOCK_SECONDS": "60",
        ])
        #expect(settings.bcryptCost == 10 && settings.sessionIdle == .seconds(600))
        #expect(settings.sessionLifetime == .seconds(3600) && settings.failuresBeforeDelay == 2)
        #expect(settings.failuresBeforeLock == 5 && settings.lockDuration == .seconds(60))
        let defaults = try SignInSettings.from(environment: [:])
        #expect(defaults == SignInSettings() && defaults.bcryptCost == 12)
    }

    @Test(arguments: [
        ("CONCORD_BCRYPT_COST", "3"), ("CONCORD_BCRYPT_COST", "32"), ("CONCORD_SESSION_IDLE_SECONDS", "0"),
        ("CONCORD_SESSION_LIFETIME_SECONDS", "soon"), ("CONCORD_SIGN_IN_LOCK_AFTER", "-1"),
    ])
    func aValueOutOfRangeIsRefusedNamingTheVariable(_ name: String, _ value: String) {
        #expect {
            try SignInSettings.from(environment: [name: value])
        } throws: { error in
            "\(error)".contains(name) && "\(error)".contains(value)
        }
    }

    @Test func passwordsHaveTenTo72Bytes() {
        #expect(Passwords.problem("short") != nil)
        #expect(Passwords.problem(String(repeating: "é", count: 37)) != nil, "74 bytes in UTF-8")
        #expect(Passwords.problem("a long enough password") == nil)
        #expect(Passwords.problem("ten chars\u{0}x") != nil)
    }
}
