-- tests/protocol/policy.lua -- miltertest script: the policy at RCPT and
-- end-of-data (issue 5).  Driven by policy.sh, which writes the policy:
--
--   default sign=clear encrypt=opportunistic
--   to *@secure.test   encrypt=required missing-cert=reject
--   to *@plainok.test  encrypt=required missing-cert=reject allow-plain-ok=yes
--   to *@defer.test    encrypt=required missing-cert=defer
--
-- and gives sender@example.test a signing key.  The client is
-- 192.0.2.10: not loopback (RCPT rejects allowed), not internal.
--
-- Cases (one connection each, so a reject cannot leak into the next):
--   R1  RCPT-time 550 5.7.1 for nobody@secure.test; ok@other.test goes on
--   R2  end-of-data 550 5.7.1 text naming x@plainok.test and plain-ok
--   R3  end-of-data 451 4.7.1 for x@defer.test
--   R4  unauthenticated sender with a key: never signed; the request
--       header is removed anyway (not honoured: plain-ok still rejected)
--   R5  authenticated sender: signed (body replaced, MIME headers added),
--       the request header removed
--   R6  authenticated, subject tag + plain-ok where allowed: signed,
--       tag removed
--   R7  authenticated, subject tag on a recipient without certificate:
--       the request raises to required: 550 at end-of-data
--   R8  already encrypted: passes untouched but for the request header
-- With -D only=R3 just that case runs (after a reload).

local SMFIC_BODYEOB = string.byte("E")

local function fail(fmt, ...)
	error(string.format(fmt, ...))
end

local function check(what, err)
	if err ~= nil then
		fail("%s: miltertest error: %s", what, tostring(err))
	end
end

local function reply_is(conn, what, want)
	local r = mt.getreply(conn)
	if r ~= want then
		fail("%s: reply %s, expected %s", what, tostring(r), tostring(want))
	end
end

local function open(name)
	local conn = mt.connect(socket)
	if conn == nil then
		fail("%s: cannot connect to %s", name, socket)
	end
	check(name .. " negotiate", mt.negotiate(conn, nil, nil, nil))
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.test",
	    "{daemon_name}", "smtpd")
	check(name .. " connect", mt.conninfo(conn, "client.example.test",
	    "192.0.2.10"))
	reply_is(conn, name .. " connect", SMFIR_CONTINUE)
	return conn
end

-- MAIL FROM (with {auth_authen} when auth is set) and the recipients;
-- rcpts: list of { address, expected reply }.
local function envelope(conn, name, from, auth, rcpts)
	if auth ~= nil then
		mt.macro(conn, SMFIC_MAIL, "i", name, "{auth_authen}", auth)
	else
		mt.macro(conn, SMFIC_MAIL, "i", name)
	end
	check(name .. " mail", mt.mailfrom(conn, "<" .. from .. ">"))
	reply_is(conn, name .. " MAIL FROM", SMFIR_CONTINUE)
	for _, r in ipairs(rcpts) do
		mt.macro(conn, SMFIC_RCPT, "i", name)
		check(name .. " rcpt", mt.rcptto(conn, "<" .. r[1] .. ">"))
		reply_is(conn, name .. " RCPT TO " .. r[1], r[2])
	end
end

local function content(conn, name, hdrs, body)
	body = body or "Hello.\r\n"
	for _, h in ipairs(hdrs) do
		check(name .. " header", mt.header(conn, h[1], h[2]))
		reply_is(conn, name .. " header " .. h[1], SMFIR_CONTINUE)
	end
	check(name .. " eoh", mt.eoh(conn))
	reply_is(conn, name .. " eoh", SMFIR_CONTINUE)
	-- in pieces: miltertest overflows on chunks above about 1000 bytes
	for i = 1, #body, 400 do
		check(name .. " body", mt.bodystring(conn,
		    string.sub(body, i, i + 399)))
		reply_is(conn, name .. " body", SMFIR_CONTINUE)
	end
	mt.macro(conn, SMFIC_BODYEOB, "i", name)
	check(name .. " eom", mt.eom(conn))
end

local function std_headers(to, extra)
	local h = {
		{ "From", "Sender <sender@example.test>" },
		{ "To", to },
		{ "Subject", "Quarterly figures" },
		{ "Message-ID", "<m1@example.test>" },
	}
	for _, e in ipairs(extra or {}) do
		h[#h + 1] = e
	end
	return h
end

local function main()
	local conn

	if only == "R3" then
		conn = open("R3b")
		envelope(conn, "R3b", "sender@example.test", nil, {
			{ "x@defer.test", SMFIR_CONTINUE } })
		content(conn, "R3b", std_headers("x@defer.test"))
		reply_is(conn, "R3b eom", SMFIR_REPLYCODE)
		mt.disconnect(conn)
		return
	end

	-- R1: rejected at RCPT, the other recipient unaffected
	conn = open("R1")
	envelope(conn, "R1", "sender@example.test", nil, {
		{ "nobody@secure.test", SMFIR_REPLYCODE },
		{ "ok@other.test", SMFIR_CONTINUE } })
	mt.disconnect(conn)

	-- R2: end-of-data reject naming the address, with the plain-ok hint
	conn = open("R2")
	envelope(conn, "R2", "sender@example.test", nil, {
		{ "x@plainok.test", SMFIR_CONTINUE } })
	content(conn, "R2", std_headers("x@plainok.test"))
	reply_is(conn, "R2 eom", SMFIR_REPLYCODE)
	if not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
	    "Encryption is required but there is no usable certificate " ..
	    "for: x@plainok.test; to send without encryption, resend with " ..
	    "the header field X-SMIME-Request: plain-ok") then
		fail("R2: end-of-data reply text differs")
	end
	mt.disconnect(conn)

	-- R3: defer
	conn = open("R3")
	envelope(conn, "R3", "sender@example.test", nil, {
		{ "x@defer.test", SMFIR_CONTINUE } })
	content(conn, "R3", std_headers("x@defer.test"))
	reply_is(conn, "R3 eom", SMFIR_REPLYCODE)
	if not mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1",
	    "Encryption is required and no certificate is known yet for: " ..
	    "x@defer.test; delivery will be retried") then
		fail("R3: defer reply differs")
	end
	mt.disconnect(conn)

	-- R4: not authenticated, not internal: never signed, requests
	-- ignored (plain-ok would have allowed it), header removed anyway
	conn = open("R4")
	envelope(conn, "R4", "sender@example.test", nil, {
		{ "ok@other.test", SMFIR_CONTINUE } })
	content(conn, "R4", std_headers("ok@other.test",
	    { { "X-SMIME-Request", "sign" } }))
	reply_is(conn, "R4 eom", SMFIR_CONTINUE)
	if mt.eom_check(conn, MT_BODYCHANGE) then
		fail("R4: an unauthenticated sender's mail was signed")
	end
	if mt.eom_check(conn, MT_HDRADD, "Content-Type") then
		fail("R4: MIME header added to an unsigned message")
	end
	if not mt.eom_check(conn, MT_HDRDELETE, "X-SMIME-Request") and
	   not mt.eom_check(conn, MT_HDRCHANGE, "X-SMIME-Request", "") then
		fail("R4: request header not removed")
	end
	mt.disconnect(conn)

	-- R5: authenticated: signed, header and subject tag removed
	conn = open("R5")
	envelope(conn, "R5", "sender@example.test", "sender@example.test", {
		{ "ok@other.test", SMFIR_CONTINUE } })
	content(conn, "R5", {
		{ "From", "Sender <sender@example.test>" },
		{ "To", "ok@other.test" },
		{ "Subject", "Quarterly figures" },
		{ "X-SMIME-Request", "sign" } })
	reply_is(conn, "R5 eom", SMFIR_CONTINUE)
	if not mt.eom_check(conn, MT_BODYCHANGE) then
		fail("R5: authenticated sender's mail not signed")
	end
	if not mt.eom_check(conn, MT_HDRADD, "Content-Type") then
		fail("R5: no Content-Type added for the signed entity")
	end
	if not mt.eom_check(conn, MT_HDRDELETE, "X-SMIME-Request") and
	   not mt.eom_check(conn, MT_HDRCHANGE, "X-SMIME-Request", "") then
		fail("R5: request header not removed")
	end
	mt.disconnect(conn)

	-- R6: subject tag (encrypt) plus plain-ok from an authenticated
	-- sender, where allowed: sent signed, tag removed from the Subject
	conn = open("R6")
	envelope(conn, "R6", "sender@example.test", "sender@example.test", {
		{ "x@plainok.test", SMFIR_CONTINUE } })
	content(conn, "R6", {
		{ "From", "Sender <sender@example.test>" },
		{ "To", "x@plainok.test" },
		{ "Subject", "[secure] Quarterly figures" },
		{ "X-SMIME-Request", "plain-ok" } })
	reply_is(conn, "R6 eom", SMFIR_CONTINUE)
	if not mt.eom_check(conn, MT_HDRCHANGE, "Subject",
	    " Quarterly figures") then
		fail("R6: subject tag not removed")
	end
	if not mt.eom_check(conn, MT_BODYCHANGE) then
		fail("R6: not signed")
	end
	mt.disconnect(conn)

	-- R7: the subject tag raises to encrypt=required; no certificate
	-- and no plain-ok: rejected at end-of-data
	conn = open("R7")
	envelope(conn, "R7", "sender@example.test", "sender@example.test", {
		{ "ok@other.test", SMFIR_CONTINUE } })
	content(conn, "R7", std_headers("ok@other.test",
	    { { "Subject", "[SECURE] again" } }))
	reply_is(conn, "R7 eom", SMFIR_REPLYCODE)
	mt.disconnect(conn)

	-- R8: already encrypted, to a recipient whose mail must be
	-- encrypted and who has no certificate: passes untouched, only the
	-- request header goes
	conn = open("R8")
	envelope(conn, "R8", "sender@example.test", nil, {
		{ "x@plainok.test", SMFIR_CONTINUE } })
	local f = assert(io.open(p7m, "rb"))
	local enveloped = f:read("*a")
	f:close()
	content(conn, "R8", std_headers("x@plainok.test", {
		{ "MIME-Version", "1.0" },
		{ "Content-Type", "application/pkcs7-mime; " ..
		    "smime-type=enveloped-data; name=smime.p7m" },
		{ "Content-Transfer-Encoding", "base64" },
		{ "X-SMIME-Request", "encrypt" } }), enveloped)
	reply_is(conn, "R8 eom", SMFIR_CONTINUE)
	if mt.eom_check(conn, MT_BODYCHANGE) then
		fail("R8: encrypted mail was changed")
	end
	if not mt.eom_check(conn, MT_HDRDELETE, "X-SMIME-Request") and
	   not mt.eom_check(conn, MT_HDRCHANGE, "X-SMIME-Request", "") then
		fail("R8: request header not removed")
	end
	mt.disconnect(conn)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
	io.stderr:write("policy.lua: FAIL: " .. tostring(err) .. "\n")
	error(err)
end
mt.echo("policy.lua: all cases passed")
