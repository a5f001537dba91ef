grep -rlZE --include='*.py' '\bchannels\b' . | xargs -0 -r sed -i -E \
    -e 's/(^|[^.[:alnum:]_])channels\./\1channels_lite./g' \
    -e 's/\b(from|import) channels\b/\1 channels_lite/g' \
    -e "s/([\"'])channels([\"'])/\1channels_lite\2/g"
