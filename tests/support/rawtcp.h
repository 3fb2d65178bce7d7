/* rawtcp.h: plain TCP clients for the tests that misbehave on purpose (connections held idle,
 * requests trickled a byte at a time, resets), where an HTTP library would do the right thing. */
#ifndef OL_RAWTCP_H
#define OL_RAWTCP_H

/* A connection to 127.0.0.1:port from loopback address src (NULL: any); -1 when refused. Fails
 * the running test when no socket can be had or src cannot be bound. Caller closes. */
int rawtcp_connect(const char *src, int port);
/* 1 when the server closed fd (EOF or reset) within wait_ms, else 0. What the server sent is
 * read and dropped. */
int rawtcp_closed(int fd, int wait_ms);
/* Sends text on fd a byte every gap_ms, so the server's idle timeout never fires, until the
 * server closes the connection; returns how long that took (ms from the call), or -1 when
 * the whole text was sent and fd is still open. */
long rawtcp_trickle(int fd, const char *text, int gap_ms);

#endif
