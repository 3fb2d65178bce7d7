/* lead.h: the fields of a Lead made from an unknown sender: FirstName and LastName from the
 * display name (or the address), Company from the domain. Pure functions: no I/O, no globals. */
#ifndef OL_LEAD_H
#define OL_LEAD_H

/* Salesforce Lead field lengths, in characters. */
#define LEAD_FIRSTNAME_MAX	40
#define LEAD_LASTNAME_MAX	80
#define LEAD_COMPANY_MAX	255
#define LEAD_EMAIL_MAX		80	/* a longer address cannot be a Lead's Email */
/* What Salesforce's own Web-to-Lead puts in Company when there is none. */
#define LEAD_COMPANY_PLACEHOLDER	"[not provided]"

/* Splits a display name into *first (NULL when there is none) and *last (never NULL or empty),
 * both newly allocated (caller frees) and cut to LEAD_FIRSTNAME_MAX / LEAD_LASTNAME_MAX characters
 * at a character boundary. address is the normalized sender address (may be NULL).
 * - Cleaning: invalid UTF-8 dropped, control characters and no-break spaces as spaces, spaces
 *   collapsed, surrounding quotes ("..." or '...') removed, (...) and [...] asides dropped
 *   ("Jane Doe (Acme)", "[EXT] Jane Doe"); letter case kept as written.
 * - "Last, First": before the first comma is LastName, up to the next comma FirstName; a part
 *   after the comma that is a suffix (Jr, Sr, II, III, IV, PhD, MD, Esq) stays with the name
 *   instead: "John Doe, Jr." is John / "Doe, Jr.".
 * - Leading titles (Mr, Mrs, Ms, Miss, Mx, Dr, Prof, with or without a dot) are dropped when a
 *   name follows: Lead.Salutation is a per-org picklist, so it is not set.
 * - One word is LastName. More words: the last is LastName, the others FirstName ("First
 *   Middle"), except that lower-case particles before the last word (van, von, de, da, di, del,
 *   della, der, den, du, la, le, dos, das, ter, ten, bin, ibn, al) join LastName: "Ludwig van
 *   Beethoven" is Ludwig / "van Beethoven".
 * - A name that is empty, equal to the address or holds an '@' is replaced by the address's
 *   local part (without +tag) split at '.', '_' and '-', each part title-cased: john.doe is
 *   John / Doe, j_doe J / Doe, jdoe123 LastName Jdoe123. With nothing usable LastName is the
 *   local part itself, or "Unknown" without an address. */
void lead_name_parse(const char *display_name, const char *address, char **first, char **last);

/* 1 if the domain (or its registrable part) is a free-mail provider, else 0. The list: gmail,
 * googlemail, yahoo, ymail, rocketmail, hotmail, outlook, live, msn, aol, gmx, yandex under any
 * suffix; and icloud.com, me.com, mac.com, web.de, t-online.de, freenet.de, proton.me, pm.me,
 * protonmail.com, protonmail.ch, tutanota.com, tuta.io, zoho.com, fastmail.com, hey.com, mail.com,
 * email.com, gmail.co, mail.ru, inbox.ru, list.ru, bk.ru, rambler.ru, ya.ru, qq.com, 163.com,
 * 126.com, yeah.net, sina.com, sohu.com, naver.com, daum.net, hanmail.net, orange.fr, wanadoo.fr,
 * free.fr, laposte.net, sfr.fr, libero.it, virgilio.it, seznam.cz, wp.pl, o2.pl, interia.pl,
 * onet.pl, rediffmail.com, comcast.net, verizon.net, att.net, sbcglobal.net, bellsouth.net,
 * cox.net, btinternet.com, sky.com, shaw.ca, rogers.com, bigpond.com, uol.com.br, bol.com.br,
 * terra.com.br. */
int lead_is_freemail(const char *domain);

/* Company for a Lead from its address's domain: the registrable label, split at '-' and
 * title-cased ("sales.acme-corp.co.uk" is "Acme Corp"). The registrable label is the one before
 * the suffix, where a suffix is the last label, or the last two when the last is a two-letter
 * country code and the one before is co, com, net, org, gov, edu, ac, ltd, plc, or, ne, go, gob
 * or nom (a small stand-in for the Public Suffix List). Punycode labels (xn--) are kept whole.
 * Free-mail domains, and addresses without a usable domain, give placeholder
 * (LEAD_COMPANY_PLACEHOLDER when NULL). Cut to LEAD_COMPANY_MAX characters. Never NULL; caller
 * frees. */
char *lead_company(const char *address, const char *placeholder);

#endif
