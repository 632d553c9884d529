/// Certificates for TLS tests, generated once with `openssl` (P-256, valid to 2126):
/// a test CA, a server certificate it signed for `localhost` and `127.0.0.1`, and one
/// it signed for `other.example` only (a host-name mismatch on loopback). Test
/// material only: these keys protect nothing.
public enum TestCertificates {
  /// The test CA (trust it with `ca_file` / `additionalTrustRoots`).
  public static let caPEM = """
-----BEGIN CERTIFICATE-----
MIIBozCCAUmgAwIBAgIUFggGhB+qTN5AegHUPigvgyeywq0wCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTU3dpdGNoYm9hcmQgVGVzdCBDQTAgFw0yNjEyMDEyMTA1MDVa
GA8yMTI2MTEwNzIxMDUwNVowHjEcMBoGA1UEAwwTU3dpdGNoYm9hcmQgVGVzdCBD
QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFXnha5koTxHPb9Xiu65efTeSory
KE2NsJSSz0F7ozWxw2rcDT/6FYrQwmAX5mg2Zgq5HFej+WM4YpH5D1CZPnSjYzBh
MB0GA1UdDgQWBBSe+Plv6iYvjN/C5mpR5RvbiXF+wzAfBgNVHSMEGDAWgBSe+Plv
6iYvjN/C5mpR5RvbiXF+wzAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIB
BjAKBggqhkjOPQQDAgNIADBFAiEAp96kRyOTkNX4AuGP05sq68jUxH0tOfk6Gyhi
c214vgkCICojF9/7Z0wPmITj3vPwBW0Hdk6kv5fa0aVpx6ur7TK7
-----END CERTIFICATE-----
"""

  /// A server certificate for `localhost` and `127.0.0.1`, signed by the test CA.
  public static let serverPEM = """
-----BEGIN CERTIFICATE-----
MIIBzDCCAXKgAwIBAgIUHe5RfXfd43B4JngQQ82YEww4ZFswCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTU3dpdGNoYm9hcmQgVGVzdCBDQTAgFw0yNjEyMDEyMTA1MDZa
GA8yMTI2MTEwNzIxMDUwNlowHTEbMBkGA1UEAwwSZmFrZS1wcm92aWRlci1nb29k
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEES/8U7OfQ5+9fAxpHSl15NgFc8Ix
R1FftiSbYNg+13HYUgC9p3bjEN0YjAgG2xW1kgAEocPlC8gavbsAI4kR/aOBjDCB
iTAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCQYDVR0TBAIwADALBgNVHQ8E
BAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFPcekmnJnsFDtGNL
NCueJqr7V/nkMB8GA1UdIwQYMBaAFJ74+W/qJi+M38LmalHlG9uJcX7DMAoGCCqG
SM49BAMCA0gAMEUCIBOba2YR/v+izYrt9S1yQcpXhTIfSw/IZLa9SA+OxTosAiEA
0B9t05J96pN2BdwwwoirdNCL9j3BvlPlxZWwEuIJTok=
-----END CERTIFICATE-----
"""

  /// The key of `serverPEM`.
  public static let serverKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOZnmMA5wURUP/YHR
BnDuPt795agzTEFv5Czz8bk9MxahRANCAAQRL/xTs59Dn718DGkdKXXk2AVzwjFH
UV+2JJtg2D7XcdhSAL2nduMQ3RiMCAbbFbWSAAShw+ULyBq9uwAjiRH9
-----END PRIVATE KEY-----
"""

  /// A server certificate for `other.example` only, signed by the test CA.
  public static let wrongHostPEM = """
-----BEGIN CERTIFICATE-----
MIIBzDCCAXGgAwIBAgIUHe5RfXfd43B4JngQQ82YEww4ZFwwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTU3dpdGNoYm9hcmQgVGVzdCBDQTAgFw0yNjEyMDEyMTA1MDZa
GA8yMTI2MTEwNzIxMDUwNlowHjEcMBoGA1UEAwwTZmFrZS1wcm92aWRlci13cm9u
ZzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLSzYRE7DwdNJEOhq4QoJ4XuWstJ
PzslzGgk4svy9VA8ygXFSO5FhZuMW89/P7XVMNKPfAhOcZZ9PpVLg7CijV6jgYow
gYcwGAYDVR0RBBEwD4INb3RoZXIuZXhhbXBsZTAJBgNVHRMEAjAAMAsGA1UdDwQE
AwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUSM/LYMMipG+TJXQL
WYZU0lzrFDIwHwYDVR0jBBgwFoAUnvj5b+omL4zfwuZqUeUb24lxfsMwCgYIKoZI
zj0EAwIDSQAwRgIhANZKtqx1TrDK+GNFrkyZJvXGZeM7vV/VkOpK/1MZsk3+AiEA
ptvZmIT/ChQp+JXMSizTnbWaMrOGooZEAx5osVqFHTs=
-----END CERTIFICATE-----
"""

  /// The key of `wrongHostPEM`.
  public static let wrongHostKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgl1hJJ03XFJ+BY/iA
LpCG7BIGHI5lm5gKQBE9fm+OuDehRANCAAS0s2EROw8HTSRDoauEKCeF7lrLST87
JcxoJOLL8vVQPMoFxUjuRYWbjFvPfz+11TDSj3wITnGWfT6VS4Owoo1e
-----END PRIVATE KEY-----
"""
}
