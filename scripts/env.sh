# Sourced by the scripts: puts the project's tools on PATH.
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
