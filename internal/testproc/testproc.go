// Package testproc runs a server binary (Prometheus, the
// prometheus-operator) as a child process of a test: output into a log
// file, ready once an HTTP endpoint answers, stopped with SIGTERM and then
// SIGKILL, and killed by the kernel if the test binary itself dies
// (parent-death signal).
package testproc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a running child process.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logPath string
	stop    sync.Once
}

// Start runs bin with args in dir, its output going to the file logPath.
func Start(bin string, args []string, dir, logPath string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// WaitHTTP polls url until it answers 200 OK, the process exits or
// timeout passes.
func (p *Process) WaitHTTP(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready: %v", p.cmd.Path, p.waitErr)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s", p.cmd.Path, timeout)
}

// Stop sends SIGTERM, then SIGKILL after grace, and waits for the process
// to exit. It is safe to call more than once.
func (p *Process) Stop(grace time.Duration) {
	p.stop.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// Log returns what the process wrote so far.
func (p *Process) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// LogPath is the log file's path.
func (p *Process) LogPath() string { return p.logPath }

// FreePort returns a 127.0.0.1 port free at the time of the call; a
// server given it binds it moments later.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
