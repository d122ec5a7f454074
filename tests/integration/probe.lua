-- probe.lua -- send one message of -D size=N body bytes to the milter at
-- -D socket=SPEC and print the reply to the first body chunk that is not
-- "continue" as "REPLY reject|tempfail|continue".  Used by t_daemon.sh to
-- observe configuration reloads from the outside.
local size = tonumber(size or "2000")
local conn = mt.connect(socket)
if conn == nil then
	print("REPLY noconnect")
	os.exit(1)
end
if mt.negotiate(conn, nil, nil, nil) ~= nil then
	print("REPLY nonegotiate")
	os.exit(1)
end
local names = { [SMFIR_CONTINUE] = "continue", [SMFIR_REJECT] = "reject",
    [SMFIR_TEMPFAIL] = "tempfail", [SMFIR_REPLYCODE] = "reject",
    [SMFIR_ACCEPT] = "accept" }

local function reply()
	return names[mt.getreply(conn)] or "other"
end

mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.test")
mt.conninfo(conn, "client.example.test", "192.0.2.10")
mt.macro(conn, SMFIC_MAIL, "i", "PROBE1")
mt.mailfrom(conn, "<probe@example.test>")
mt.rcptto(conn, "<rcpt@example.test>")
mt.header(conn, "Subject", "probe")
mt.eoh(conn)
local r = "continue"
local sent = 0
while sent < size and r == "continue" do
	local n = math.min(1000, size - sent)
	mt.bodystring(conn, string.rep("x", n - 2) .. "\r\n")
	sent = sent + n
	r = reply()
end
if r == "continue" then
	mt.eom(conn)
	r = reply()
	if r == "accept" then r = "continue" end
end
print("REPLY " .. r)
mt.disconnect(conn)
