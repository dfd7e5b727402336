import Foundation

/// Kubernetes' rules for object and container names, checked before rendering so an app whose
/// name Kubernetes refuses is reported by its file, not by `kubectl apply`.
enum KubeNames {
    /// RFC 1123 label: container, port and Service names.
    static func isLabel(_ text: String) -> Bool {
        text.count <= 63 && text.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options: .regularExpression) != nil
    }

    /// RFC 1123 subdomain: ConfigMap, Secret and StorageClass names.
    static func isSubdomain(_ text: String) -> Bool {
        text.count <= 253
            && text.range(
                of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", options: .regularExpression)
                != nil
    }
}
