# Policy "secure-proxy-token-self": only needed when the proxy's token lacks the default policy.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
