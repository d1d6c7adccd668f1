# Policy "secure-proxy-token-records": only with tokenStore (path secure-proxy/clients): list the clients, read their records.
path "secret/metadata/secure-proxy/clients/" {
  capabilities = ["list"]
}
path "secret/data/secure-proxy/clients/*" {
  capabilities = ["read"]
}
