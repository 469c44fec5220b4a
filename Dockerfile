# A slim image holding one file: the release binary, which carries the whole site.
#   docker build -t magic-link-auth .
#   docker run -p 3000:3000 -v magic-link-data:/data \
#     -e MAGIC_LINK_AUTH_PUBLIC_URL=https://app.example.com magic-link-auth

# --- build: the same tools `make setup` installs --------------------------------------------
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads
WORKDIR /src
# The wasm-bindgen CLI must match the crate version in Cargo.lock.
COPY Cargo.lock ./
RUN cargo install wasm-bindgen-cli --version \
      "$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
# wasm-opt comes from npm's binaryen (Debian's older build breaks hydration).
COPY end2end/package.json end2end/package-lock.json end2end/
RUN cd end2end && npm ci --no-audit --no-fund
ENV PATH=/src/end2end/node_modules/.bin:$PATH
COPY . .
RUN cargo leptos build --release --split --lib-features hydrate,split \
 && cp "target/release/$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | head -1)" /server

# --- run: the binary alone ------------------------------------------------------------------
FROM debian:bookworm-slim
# CA certificates for HTTPS to the mail provider.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /data --shell /usr/sbin/nologin app \
 && mkdir /data && chown app /data
# The binary is named after the package in Cargo.toml; here it is always `server`.
COPY --from=build /server /usr/local/bin/server
USER app
WORKDIR /data
ENV LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/magic_link_auth.db?mode=rwc \
    RUST_LOG=info,sqlx=warn
EXPOSE 3000
# SIGTERM (docker stop) lets requests in flight finish.
STOPSIGNAL SIGTERM
CMD ["server"]
