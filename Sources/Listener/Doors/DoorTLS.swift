import NIOSSL
import Shared

/// The server side of a door's `tls:` block: its certificate chain and key, and, when `client_ca`
/// is given, client certificates required and checked against that CA. Built once at start, so
/// an unreadable or mismatched PEM stops the listener with the file's name instead of failing
/// each handshake.
enum DoorTLS {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func configuration(_ tls: ListenerConfig.TLS, door: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificate)
        } catch {
            throw Failure(description: "\(door).tls.cert: \(tls.certificate) is not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else {
            throw Failure(description: "\(door).tls.cert: \(tls.certificate) holds no certificate")
        }
        do {
            key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        } catch {
            throw Failure(description: "\(door).tls.key: \(tls.key) is not a PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA = tls.clientCA {
            // A client's certificate is its identity here, not a host name: check the chain only.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .file(clientCA)
        }
        do {
            // Fails here, at start, when the key does not belong to the certificate.
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw Failure(
                description:
                    "\(door).tls: \(tls.certificate) and \(tls.key) cannot serve TLS (\(error)); is the key the certificate's?"
            )
        }
        return configuration
    }
}
