package refserver

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/refserver/store"
)

// The JSON bodies of user resources. Every one carries the owner's "userId" so the
// harness can check isolation. Field order is fixed, so cache and no-cache modes answer
// byte for byte alike.

type profileJSON struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Tier   string `json:"tier"`
}

type tierJSON struct {
	UserID string `json:"userId"`
	Tier   string `json:"tier"`
	Limits Limits `json:"limits"`
}

type conversationJSON struct {
	ID        string `json:"id"`
	UserID    string `json:"userId"`
	Title     string `json:"title"`
	CreatedAt string `json:"createdAt"`
}

type conversationsJSON struct {
	UserID        string             `json:"userId"`
	Conversations []conversationJSON `json:"conversations"`
}

type messageJSON struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversationId"`
	UserID         string `json:"userId"`
	Role           string `json:"role"`
	Content        string `json:"content"`
	CreatedAt      string `json:"createdAt"`
}

type messagesJSON struct {
	UserID         string        `json:"userId"`
	ConversationID string        `json:"conversationId"`
	Messages       []messageJSON `json:"messages"`
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func conversationRef(id int64) string { return "c" + strconv.FormatInt(id, 10) }
func messageRef(id int64) string      { return "m" + strconv.FormatInt(id, 10) }

// parseConversationRef reads "c<digits>" strictly: no sign, no leading zero, at most 18 digits.
func parseConversationRef(s string) (int64, bool) {
	if len(s) < 2 || len(s) > 19 || s[0] != 'c' || s[1] == '0' {
		return 0, false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s[1:], 10, 64)
	return id, err == nil
}

func renderProfile(u store.User) []byte {
	b, _ := json.Marshal(profileJSON{UserID: u.ID, Email: u.Email, Name: u.Name, Tier: string(u.Tier)})
	return b
}

func renderTier(userID string, tier atlas.Tier, limits Limits) []byte {
	b, _ := json.Marshal(tierJSON{UserID: userID, Tier: string(tier), Limits: limits})
	return b
}

func toConversationJSON(c store.Conversation) conversationJSON {
	return conversationJSON{ID: conversationRef(c.ID), UserID: c.UserID, Title: c.Title, CreatedAt: formatTime(c.CreatedAt)}
}

func renderConversation(c store.Conversation) []byte {
	b, _ := json.Marshal(toConversationJSON(c))
	return b
}

func renderConversations(userID string, cs []store.Conversation) []byte {
	out := conversationsJSON{UserID: userID, Conversations: make([]conversationJSON, 0, len(cs))}
	for _, c := range cs {
		out.Conversations = append(out.Conversations, toConversationJSON(c))
	}
	b, _ := json.Marshal(out)
	return b
}

func toMessageJSON(m store.Message) messageJSON {
	return messageJSON{ID: messageRef(m.ID), ConversationID: conversationRef(m.ConversationID), UserID: m.UserID,
		Role: m.Role, Content: m.Content, CreatedAt: formatTime(m.CreatedAt)}
}

func renderMessage(m store.Message) []byte {
	b, _ := json.Marshal(toMessageJSON(m))
	return b
}

func renderMessages(userID string, conversationID int64, ms []store.Message) []byte {
	out := messagesJSON{UserID: userID, ConversationID: conversationRef(conversationID), Messages: make([]messageJSON, 0, len(ms))}
	for _, m := range ms {
		out.Messages = append(out.Messages, toMessageJSON(m))
	}
	b, _ := json.Marshal(out)
	return b
}
