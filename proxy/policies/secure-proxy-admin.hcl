# Policy "secure-proxy-admin": manage proxy token records; no access to service secrets.
path "secret/data/secure-proxy/clients/*" {
  capabilities = ["create", "read", "update", "list"]
}
path "secret/metadata/secure-proxy/clients/*" {
  capabilities = ["create", "read", "update", "list"]
}
