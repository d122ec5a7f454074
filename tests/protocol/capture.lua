-- tests/protocol/capture.lua -- miltertest script for smime-milter.
--
-- Usage: miltertest -s capture.lua -D socket=inet:PORT@127.0.0.1
--        [-D maxsize=204800]
--
-- One milter connection, five transactions:
--   QID1  2 recipients, headers, body in chunks (one > 1k => spooled) -> EOM
--         must be accepted/continued with no modifications
--   QID2  body aborted mid-way (after > 1k of body) with mt.abort
--   QID3  normal message, 1 recipient -> accepted, no modifications
--   QID4  > MaxMessageSize (200k) -> must be rejected (552 5.3.4) as soon as
--         the limit is exceeded, i.e. during the body phase
--   QID5  after the reject (+ the ABORT an MTA sends) a normal message on the
--         same connection still works
-- The shell driver (run.sh) checks the milter log and spool afterwards.
--
-- Notes on miltertest (OpenDKIM 2.11, Lua 5.3):
--  * mt.getreply() only returns the reply *command* byte; the text of an
--    SMFIR_REPLYCODE received before EOM is discarded by miltertest, so for a
--    body-phase reject only the reply type can be checked.  At EOM the text
--    can only be compared exactly (mt.eom_check MT_SMTPREPLY).
--  * mt.macro() accepts any numeric type; Lua constants exist only for
--    SMFIC_CONNECT/HELO/MAIL/RCPT, so EOM macros use string.byte("E").
--  * mt.negotiate(conn, version, protocol-opts, actions): nil = defaults.
--  * miltertest never prints a Lua error message (just exits 1), hence the
--    xpcall wrapper at the bottom that writes "capture.lua: FAIL: ..." to
--    stderr.
--  * Steps the milter disabled in negotiation (SMFIP_NOHELO) must be skipped,
--    miltertest errors out on them.

local SMFIC_BODYEOB = string.byte("E")

if socket == nil then
	io.stderr:write("capture.lua: FAIL: no socket given; run with -D socket=inet:PORT@127.0.0.1\n")
	error("no socket given")
end
local maxsize = tonumber(maxsize or "204800")

local names = {}
for _, n in ipairs({ "SMFIR_CONTINUE", "SMFIR_ACCEPT", "SMFIR_REJECT",
                     "SMFIR_TEMPFAIL", "SMFIR_DISCARD", "SMFIR_REPLYCODE",
                     "SMFIR_SKIP" }) do
	if _G[n] ~= nil then
		names[math.floor(_G[n])] = n
	end
end

local function rname(r)
	if r == nil then
		return "nil"
	end
	local i = math.floor(r)
	local s = names[i]
	if s == nil then
		if i > 32 and i < 127 then
			s = string.format("'%s'", string.char(i))
		else
			s = tostring(i)
		end
	end
	return s
end

local function log(fmt, ...)
	mt.echo("capture: " .. string.format(fmt, ...))
end

-- Call an mt.* step, fail on error string, then check the reply.
-- expect: table of acceptable SMFIR_* values, or nil for "don't check"
local function step(what, conn, expect, fn, ...)
	local err = fn(conn, ...)
	if err ~= nil then
		error(string.format("%s: miltertest error: %s", what, tostring(err)))
	end
	local r = mt.getreply(conn)
	if expect ~= nil then
		for _, e in ipairs(expect) do
			if r == e then
				return r
			end
		end
		local want = {}
		for _, e in ipairs(expect) do
			want[#want + 1] = rname(e)
		end
		error(string.format("%s: unexpected reply %s (expected %s)",
		    what, rname(r), table.concat(want, " or ")))
	end
	return r
end

local CONT = { SMFIR_CONTINUE }
local DONE = { SMFIR_CONTINUE, SMFIR_ACCEPT }

local function body_line_chunk(tag, n)
	-- n bytes of CRLF-terminated 76-char lines
	local line = string.rep(tag, 74):sub(1, 74) .. "\r\n"
	local reps = math.floor(n / #line)
	local s = string.rep(line, reps)
	if #s < n then
		s = s .. string.rep("z", n - #s - 2) .. "\r\n"
	end
	return s
end

local function assert_unmodified(conn, what)
	local checks = {
		{ MT_HDRADD, "header added" },
		{ MT_HDRINSERT, "header inserted" },
		{ MT_HDRCHANGE, "header changed/deleted" },
		{ MT_BODYCHANGE, "body replaced" },
		{ MT_QUARANTINE, "message quarantined" },
	}
	for _, c in ipairs(checks) do
		if mt.eom_check(conn, c[1]) then
			error(string.format("%s: unexpected modification at EOM: %s",
			    what, c[2]))
		end
	end
	for _, a in ipairs({ "<alice@example.test>", "alice@example.test",
	                     "<bob@example.test>", "bob@example.test" }) do
		if mt.eom_check(conn, MT_RCPTADD, a) then
			error(string.format("%s: unexpected recipient added: %s", what, a))
		end
		if mt.eom_check(conn, MT_RCPTDELETE, a) then
			error(string.format("%s: unexpected recipient deleted: %s", what, a))
		end
	end
end

local function envelope(conn, qid, from, rcpts)
	mt.macro(conn, SMFIC_MAIL, "i", qid, "{mail_addr}", from)
	step(qid .. " MAIL FROM", conn, CONT, mt.mailfrom, "<" .. from .. ">")
	for _, r in ipairs(rcpts) do
		mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", r)
		step(qid .. " RCPT TO " .. r, conn, CONT, mt.rcptto, "<" .. r .. ">")
	end
	-- The milter takes the DATA event (see the negotiation check).
	step(qid .. " DATA", conn, CONT, mt.data)
end

local function headers(conn, qid, from, to, subject)
	local hdrs = {
		{ "Received", "from client.example.test (client.example.test [192.0.2.10])\r\n\tby mx.example.test (Postfix) with ESMTP id " .. qid },
		{ "From", "<" .. from .. ">" },
		{ "To", to },
		{ "Subject", subject },
		{ "Date", "Tue, 01 Jul 2025 12:00:00 +0000" },
		{ "Message-ID", "<" .. qid .. "@example.test>" },
		{ "MIME-Version", "1.0" },
		{ "Content-Type", "text/plain; charset=us-ascii" },
	}
	local n = 0
	for _, h in ipairs(hdrs) do
		step(qid .. " header " .. h[1], conn, CONT, mt.header, h[1], h[2])
		n = n + #h[1] + 2 + #h[2] + 2
	end
	step(qid .. " EOH", conn, CONT, mt.eoh)
	return n + 2
end

local function eom(conn, qid)
	mt.macro(conn, SMFIC_BODYEOB, "i", qid)
	return step(qid .. " EOM", conn, DONE, mt.eom)
end

local function main()
	log("connecting to %s", socket)
	local conn = mt.connect(socket)
	if conn == nil then
		error("mt.connect(" .. socket .. ") failed")
	end

	local err = mt.negotiate(conn, nil, nil, nil)
	if err ~= nil then
		error("mt.negotiate() failed: " .. tostring(err))
	end
	for _, a in ipairs({ { SMFIF_ADDHDRS, "ADDHDRS" }, { SMFIF_CHGBODY, "CHGBODY" },
	                     { SMFIF_ADDRCPT, "ADDRCPT" }, { SMFIF_DELRCPT, "DELRCPT" },
	                     { SMFIF_CHGHDRS, "CHGHDRS" },
	                     { SMFIF_QUARANTINE, "QUARANTINE" } }) do
		if not mt.test_action(conn, a[1]) then
			error("negotiation: milter did not request action SMFIF_" .. a[2])
		end
	end
	-- NODATA: over TCP, Postfix would stall ~40 ms per message (the
	-- comment in cb_negotiate, milter/callbacks.c).
	for _, o in ipairs({ { SMFIP_NOHDRS, "NOHDRS" }, { SMFIP_NOBODY, "NOBODY" },
	                     { SMFIP_NOEOH, "NOEOH" }, { SMFIP_NOMAIL, "NOMAIL" },
	                     { SMFIP_NORCPT, "NORCPT" }, { SMFIP_NODATA, "NODATA" } }) do
		if mt.test_option(conn, o[1]) then
			error("negotiation: milter unexpectedly requested SMFIP_" .. o[2])
		end
	end
	log("negotiated")

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.test",
	    "{daemon_name}", "smtpd", "{client_addr}", "192.0.2.10",
	    "{client_name}", "client.example.test")
	step("CONNECT", conn, CONT, mt.conninfo, "client.example.test", "192.0.2.10")
	if not mt.test_option(conn, SMFIP_NOHELO) then
		step("HELO", conn, CONT, mt.helo, "client.example.test")
	end

	-- ---- message 1: normal, spooled (> SpoolThreshold 1k) --------------------
	envelope(conn, "QID1", "alice@example.test",
	    { "alice@example.test", "bob@example.test" })
	local size1 = headers(conn, "QID1", "alice@example.test",
	    "<alice@example.test>, <bob@example.test>", "capture test 1")
	local chunks1 = {
		"Hello,\r\n\r\nthis is the first part of the body.\r\n",
		body_line_chunk("a", 3000),
		"short middle chunk\r\n",
		body_line_chunk("b", 800),
		"-- \r\nend\r\n",
	}
	for i, c in ipairs(chunks1) do
		step("QID1 body chunk " .. i, conn, CONT, mt.bodystring, c)
		size1 = size1 + #c
	end
	eom(conn, "QID1")
	assert_unmodified(conn, "QID1")
	log("QID1 accepted unmodified (%d bytes sent)", size1)

	-- ---- message 2: aborted mid-body -------------------------------------------
	envelope(conn, "QID2", "bob@example.test",
	    { "alice@example.test", "bob@example.test" })
	headers(conn, "QID2", "bob@example.test", "<alice@example.test>",
	    "capture test 2 (aborted)")
	step("QID2 body chunk 1", conn, CONT, mt.bodystring, body_line_chunk("c", 2500))
	step("QID2 body chunk 2", conn, CONT, mt.bodystring, "partial line, then abort\r\n")
	err = mt.abort(conn)
	if err ~= nil then
		error("QID2 mt.abort() failed: " .. tostring(err))
	end
	log("QID2 aborted mid-body")

	-- ---- message 3: normal again on the same connection -----------------------
	envelope(conn, "QID3", "carol@example.test", { "bob@example.test" })
	local size3 = headers(conn, "QID3", "carol@example.test", "<bob@example.test>",
	    "capture test 3")
	for i, c in ipairs({ "Third message.\r\n", body_line_chunk("d", 1500), "bye\r\n" }) do
		step("QID3 body chunk " .. i, conn, CONT, mt.bodystring, c)
		size3 = size3 + #c
	end
	eom(conn, "QID3")
	assert_unmodified(conn, "QID3")
	log("QID3 accepted unmodified (%d bytes sent)", size3)

	-- ---- message 4: larger than MaxMessageSize --------------------------------
	envelope(conn, "QID4", "alice@example.test", { "bob@example.test" })
	local sent4 = headers(conn, "QID4", "alice@example.test", "<bob@example.test>",
	    "capture test 4 (too big)")
	local CHUNK = 60000 -- below libmilter's 64k command limit
	local rejected_at = nil
	local reply4 = nil
	local i = 0
	while sent4 < maxsize + 3 * CHUNK do
		i = i + 1
		local c = body_line_chunk(string.char(string.byte("e") + (i % 5)), CHUNK)
		local r = step("QID4 body chunk " .. i, conn, nil, mt.bodystring, c)
		sent4 = sent4 + #c
		if r ~= SMFIR_CONTINUE then
			rejected_at = sent4
			reply4 = r
			break
		end
	end
	if reply4 == nil then
		-- not rejected during the body: the limit must then be enforced at EOM
		mt.macro(conn, SMFIC_BODYEOB, "i", "QID4")
		err = mt.eom(conn)
		if err ~= nil then
			error("QID4 EOM: miltertest error: " .. tostring(err))
		end
		reply4 = mt.getreply(conn)
		if reply4 ~= SMFIR_REPLYCODE and reply4 ~= SMFIR_REJECT then
			error(string.format("QID4: %d bytes sent (limit %d) but reply at EOM is %s, expected a reject",
			    sent4, maxsize, rname(reply4)))
		end
		error(string.format("QID4: not rejected as soon as the limit was exceeded: body of %d bytes (limit %d) continued, reject (%s) only at EOM",
		    sent4, maxsize, rname(reply4)))
	end
	if reply4 ~= SMFIR_REPLYCODE and reply4 ~= SMFIR_REJECT then
		error(string.format("QID4: reply %s after %d bytes, expected SMFIR_REPLYCODE (552 5.3.4) or SMFIR_REJECT",
		    rname(reply4), rejected_at))
	end
	if rejected_at <= maxsize then
		error(string.format("QID4: rejected after only %d bytes (limit %d)",
		    rejected_at, maxsize))
	end
	if rejected_at > maxsize + CHUNK then
		error(string.format("QID4: rejected late, after %d bytes (limit %d, chunk %d)",
		    rejected_at, maxsize, CHUNK))
	end
	log("QID4 rejected with %s after %d bytes (chunk %d); reply text is not visible to miltertest before EOM",
	    rname(reply4), rejected_at, i)
	-- an MTA aborts the transaction after a reject; the milter must cope
	err = mt.abort(conn)
	if err ~= nil then
		error("QID4 mt.abort() failed: " .. tostring(err))
	end

	-- ---- message 5: connection still usable after the reject ------------------
	envelope(conn, "QID5", "bob@example.test", { "alice@example.test" })
	headers(conn, "QID5", "bob@example.test", "<alice@example.test>", "capture test 5")
	step("QID5 body", conn, CONT, mt.bodystring, "after the reject\r\n")
	eom(conn, "QID5")
	assert_unmodified(conn, "QID5")
	log("QID5 accepted unmodified")

	mt.disconnect(conn)
	log("done")
	end

	-- miltertest (Debian 2.11) exits 1 on a Lua error but never prints the
	-- message, so report it ourselves (stderr) before re-raising.
	local ok, e = xpcall(main, debug.traceback)
	if not ok then
		io.stderr:write("capture.lua: FAIL: " .. tostring(e) .. "\n")
		error(e, 0)
end
