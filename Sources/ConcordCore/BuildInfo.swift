/// What this build is, for `concord --version` and the `concord_build_info` metric.
public enum BuildInfo {
    public static let version = "0.9.0"
}
