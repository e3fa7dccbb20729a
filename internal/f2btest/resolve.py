# Resolve fail2ban filters with the installed fail2ban's own FilterReader,
# for logjail's tests (nothing of fail2ban is stored in logjail's tree).
# stdin: JSON [[config_dir, filter_name, {option: value}], ...]
# stdout: JSON [{"prefregex": ..., "failregex": [...], ...} or {"error": ...}]
import json
import sys

from fail2ban.client.filterreader import FilterReader

out = []
for base, name, opts in json.load(sys.stdin):
    try:
        fr = FilterReader(name, "jail", dict(opts), basedir=base)
        fr.read()
        fr.getOptions({})
        res = {}
        for cmd in fr.convert():
            vals = cmd[3] if cmd[0] == "multi-set" else cmd[3:]
            res.setdefault(cmd[2], []).extend(vals)
        out.append(res)
    except Exception as e:  # reported per filter, the others go on
        out.append({"error": repr(e)})
json.dump(out, sys.stdout)
