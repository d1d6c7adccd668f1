# Policy "secure-proxy": everything the proxy needs, nothing else.

# Read the service secrets. On KV v2 the API path has "data/" after the mount.
path "secret/data/secure-proxy/services/*" {
  capabilities = ["read"]
}

# Detect the KV version of the mount. Leave this out and set vault.kvVersion instead
# if you prefer.
path "sys/internal/ui/mounts/secret" {
  capabilities = ["read"]
}
