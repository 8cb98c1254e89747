# The release of sim/scenarios/power-and-chunks.json, used by bench/sim.sh and
# tests/integration/test_sim_power_chunks.sh (sourced): a firmware of about
# 1 MiB in 4 KiB frames (the release format's smallest) of which a quarter is
# random and the rest zeros, so that zstd stores each frame in about
# 1 KiB: the device fetches the image in 1 KiB-level Range requests.
# chunk_image OUT SIZE SEED: the image; chunk_bundle OUT IMAGE VERSION
# COUNTER KEY: its bundle for hardware class thermo ($nobrick must be set).
chunk_image() {
    head -c $(($2 / 4)) /dev/zero | openssl enc -aes-256-ctr -nosalt -pbkdf2 -pass "pass:$3" |
        perl -e 'binmode STDIN; binmode STDOUT;
                 while (read(STDIN, my $b, 1024)) { print $b, "\0" x 3072 }' >"$1"
}
chunk_bundle() {
    "$nobrick" bundle create --image "$2" --version "$3" --security-counter "$4" \
        --hw-class thermo --key "$5" --frame-size 4096 --out "$1" >/dev/null
}
